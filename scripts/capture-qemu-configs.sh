#!/usr/bin/env bash
# Remakes every capture of test/fixtures/qemu-configs (see its README.md) with
# scripts/capture-qemu.sh: trace captures, trees only, paused machines and QEMU's refusals.
#
#   scripts/capture-qemu-configs.sh            all of them (about 40 minutes)
#   scripts/capture-qemu-configs.sh NAME...    only those (a refusal set is named "refusals")
#
# Run from the repository root, one at a time, on an otherwise idle host: the guest runs on the
# host's clock (TCG without icount), so load changes how far it gets in a given time.
set -euo pipefail
cd "$(dirname "$0")/.."
CAP=scripts/capture-qemu.sh
DIR=test/fixtures/qemu-configs

SELECTED=("$@")
want() { [ ${#SELECTED[@]} -eq 0 ] && return 0; local n; for n in "${SELECTED[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
run() { local name=$1; shift; if want "$name"; then echo "== $name"; "$CAP" "$@"; fi; }

P9=(-cpu POWER9)

# 1. vsmt=8 on pseries-7.2: vCPU n is server 8n.
run p72-xive-vsmt8-smp4 p72-xive-vsmt8-smp4 -- -M pseries,ic-mode=xive,vsmt=8 "${P9[@]}" -smp 4
# A VSMT mode that is not a power of 2 (accepted under TCG): vCPU n is server 3n.
run p72-xive-vsmt3-smp4 p72-xive-vsmt3-smp4 -- -M pseries,ic-mode=xive,vsmt=3 "${P9[@]}" -smp 4

# 2. pseries-4.1 (default vsmt 8) and pseries-4.2 (vsmt = threads per core).
run p41-smp4 p41-smp4 -- -M pseries-4.1 "${P9[@]}" -smp 4
run p42-smp4 p42-smp4 -- -M pseries-4.2 "${P9[@]}" -smp 4

# 3. pseries-4.0: XICS backend by default, ic-mode still accepted.
run p40-smp2 p40-smp2 -- -M pseries-4.0 "${P9[@]}" -smp 2
run p40-xive-smp2 p40-xive-smp2 -- -M pseries-4.0,ic-mode=xive "${P9[@]}" -smp 2

# 4. Older machine types: 3.1 (XICS backend, new IRQ numbering), 3.0 and 2.12 (legacy XICS
#    backend and IRQ allocation), 2.7 with its default CPU (POWER7: the guest's init dies of an
#    illegal instruction and the kernel panics, so the panic pauses the VM instead of ending
#    QEMU) and with POWER8 (which pseries <= 2.11 refuse under TCG unless cap-htm=off).
run p31-power9-smp2-rng p31-power9-smp2-rng -- -M pseries-3.1 "${P9[@]}" -smp 2 -device virtio-rng-pci
run p31-xive-power9-smp2 p31-xive-power9-smp2 -- -M pseries-3.1,ic-mode=xive "${P9[@]}" -smp 2
run p30-power9-smp2-rng p30-power9-smp2-rng -- -M pseries-3.0 "${P9[@]}" -smp 2 -device virtio-rng-pci
run p212-power9-smp2-rng p212-power9-smp2-rng -- -M pseries-2.12 "${P9[@]}" -smp 2 -device virtio-rng-pci
run p27-default-smp2 p27-default-smp2 -- -M pseries-2.7 -smp 2 -action panic=pause
run p27-htmoff-power8-smp2 p27-htmoff-power8-smp2 -- -M pseries-2.7,cap-htm=off -cpu POWER8 -smp 2

# 5. CPU models on pseries-7.2.
run p72-power10-smp2 p72-power10-smp2 -- -M pseries -cpu POWER10 -smp 2
run p72-power8-smp2 p72-power8-smp2 -- -M pseries -cpu POWER8 -smp 2
run p72-compat8-smp2 p72-compat8-smp2 -- -M pseries,max-cpu-compat=power8 "${P9[@]}" -smp 2
run p72-xive-power10v2-smp2 p72-xive-power10v2-smp2 -- -M pseries,ic-mode=xive -cpu power10_v2.0 -smp 2

# 6. Many vCPUs.
run p72-xive-smp16 p72-xive-smp16 -- -M pseries,ic-mode=xive "${P9[@]}" -smp 16
run p72-xive-smp8-max32 p72-xive-smp8-max32 -- -M pseries,ic-mode=xive "${P9[@]}" -smp 8,maxcpus=32

# 7. CPU hot-plug and hot-unplug. Multi-threaded TCG: single-threaded TCG aborts at unplug; and
#    multi-threaded TCG aborts when more vCPUs than maxcpus have been created in all, so 8.
UNPLUG=(-t 80
  -c '5:info hotpluggable-cpus'
  -c '30:device_add power9_v2.0-spapr-cpu-core,core-id=2,id=core2'
  -c '35:device_add power9_v2.0-spapr-cpu-core,core-id=3,id=core3'
  -c '40:info hotpluggable-cpus'
  -c '45:device_del core2'
  -c '55:device_del core3'
  -c '62:info hotpluggable-cpus'
  -c '65:device_add power9_v2.0-spapr-cpu-core,core-id=2,id=core2b'
  -c '75:info hotpluggable-cpus')
run p72-xive-unplug p72-xive-unplug "${UNPLUG[@]}" -- -M pseries,ic-mode=xive "${P9[@]}" -smp 2,maxcpus=8 -accel tcg,thread=multi
run p72-xics-unplug p72-xics-unplug "${UNPLUG[@]}" -- -M pseries,ic-mode=xics "${P9[@]}" -smp 2,maxcpus=8 -accel tcg,thread=multi

# 8. Machine reset while the guest runs; the guest boots and negotiates again.
RESET=(-t 70 -c '30:system_reset')
run p72-xive-reset p72-xive-reset "${RESET[@]}" -- -M pseries,ic-mode=xive "${P9[@]}" -smp 2
run p72-dual-reset p72-dual-reset "${RESET[@]}" -- -M pseries,ic-mode=dual "${P9[@]}" -smp 2

# 9. Extra PHBs, an INTx (LSI) device on one and an MSI-X device on the other.
PHBS=(-device spapr-pci-host-bridge,index=1 -device virtio-rng-pci,bus=pci.1,vectors=0
  -device spapr-pci-host-bridge,index=2 -device virtio-rng-pci,bus=pci.2)
run p72-xive-phbs p72-xive-phbs -- -M pseries,ic-mode=xive "${P9[@]}" -smp 2 "${PHBS[@]}"
run p72-xics-phbs p72-xics-phbs -- -M pseries,ic-mode=xics "${P9[@]}" -smp 2 "${PHBS[@]}"

# 10. Trees only.
run p72-xics-smp4-max8 --dtb-only p72-xics-smp4-max8 -- -M pseries-7.2,ic-mode=xics "${P9[@]}" -smp 4,maxcpus=8
run p72-dual-power10-smp2 --dtb-only p72-dual-power10-smp2 -- -M pseries,ic-mode=dual -cpu POWER10 -smp 2
run p212-power9-smp2-phbs --dtb-only p212-power9-smp2-phbs -- -M pseries-2.12 "${P9[@]}" -smp 2 \
  -device spapr-pci-host-bridge,index=1 -device virtio-rng-pci,bus=pci.1

# 12. Machines stopped before the guest runs (-S): the state at reset.
PAUSED=(--paused -t 3 --no-dtb)
run p212-power9-smp2-rng-prelaunch p212-power9-smp2-rng-prelaunch "${PAUSED[@]}" -- -M pseries-2.12 "${P9[@]}" -smp 2 -device virtio-rng-pci
run p72-xive-vsmt8-smp4-prelaunch p72-xive-vsmt8-smp4-prelaunch "${PAUSED[@]}" -- -M pseries,ic-mode=xive,vsmt=8 "${P9[@]}" -smp 4
run p72-power8-smp2-prelaunch p72-power8-smp2-prelaunch "${PAUSED[@]}" -- -M pseries -cpu POWER8 -smp 2
run p72-dual-smp2-prelaunch p72-dual-smp2-prelaunch "${PAUSED[@]}" -- -M pseries,ic-mode=dual "${P9[@]}" -smp 2

# 11. QEMU's refusals (refusals.json, remade from scratch). A configuration QEMU accepts is kept
#     too, with "exit": null (still running after 15 s, then killed).
if want refusals; then
  echo "== refusals"
  R=$DIR/refusals.json
  rm -f "$R"
  ref() { "$CAP" --refusal "$R" -- "$@" -accel tcg; }
  # Interrupt controller mode against CPU and machine type.
  ref -M pseries,ic-mode=xive -cpu POWER8 -smp 2
  ref -M pseries,ic-mode=xive -cpu POWER7 -smp 2
  ref -M pseries,ic-mode=xive,max-cpu-compat=power8 -cpu POWER9 -smp 2
  ref -M pseries,ic-mode=xive,max-cpu-compat=power7 -cpu POWER9 -smp 2
  ref -M pseries-3.1,ic-mode=xive -smp 2
  ref -M pseries-3.0,ic-mode=xive -smp 2
  ref -M pseries-3.0,ic-mode=xive -cpu POWER9 -smp 2
  ref -M pseries-2.12,ic-mode=xics -cpu POWER9 -smp 2
  ref -M pseries,ic-mode=bogus -cpu POWER9 -smp 2
  ref -M pseries,ic-mode=legacy -cpu POWER9 -smp 2
  # Machine types.
  ref -M pseries-9.9 -cpu POWER9 -smp 2
  ref -M pseries-2.11 -cpu POWER9 -smp 2
  ref -M pseries-2.7 -cpu POWER8 -smp 2
  ref -M pseries-2.6 -cpu POWER9 -smp 2,maxcpus=4
  # CPU models and compatibility modes.
  ref -M pseries -cpu bogus -smp 2
  ref -M pseries -cpu e500 -smp 2
  ref -M pseries,max-cpu-compat=power10 -cpu POWER9 -smp 2
  ref -M pseries,max-cpu-compat=power9 -cpu POWER8 -smp 2
  ref -M pseries,max-cpu-compat=bogus -cpu POWER9 -smp 2
  # Threads, VSMT and the number of vCPUs.
  ref -M pseries -cpu POWER9 -smp 2,threads=2
  ref -M pseries,vsmt=4 -cpu POWER9 -smp 4,threads=4
  ref -M pseries -cpu POWER9 -smp 3,threads=3
  ref -M pseries -cpu POWER9 -smp 4097
  ref -M pseries -cpu POWER9 -smp 2,maxcpus=4097
  ref -M pseries -cpu POWER9 -smp 4,maxcpus=2
  ref -M pseries -cpu POWER9 -smp 4,sockets=3,cores=1
  ref -M pseries,ic-mode=xive,vsmt=8 -cpu POWER9 -smp 2,maxcpus=513
  ref -M pseries,ic-mode=dual,vsmt=8 -cpu POWER9 -smp 2,maxcpus=513
  ref -M pseries,ic-mode=xive,vsmt=2 -cpu POWER9 -smp 2,maxcpus=2049
  ref -M pseries,ic-mode=xive,vsmt=8 -cpu POWER9 -smp 2,maxcpus=1025
  ref -M pseries-4.1 -cpu POWER9 -smp 2,maxcpus=513
  ref -M pseries-4.1 -cpu POWER9 -smp 2,maxcpus=1025
  # PHBs.
  ref -M pseries -cpu POWER9 -smp 2 -device spapr-pci-host-bridge
  ref -M pseries -cpu POWER9 -smp 2 -device spapr-pci-host-bridge,index=0
  ref -M pseries -cpu POWER9 -smp 2 -device spapr-pci-host-bridge,index=1 -device spapr-pci-host-bridge,index=1
  ref -M pseries -cpu POWER9 -smp 2 -device spapr-pci-host-bridge,index=31
  ref -M pseries-4.0 -cpu POWER9 -smp 2 -device spapr-pci-host-bridge,index=31
  ref -M pseries-2.7 -smp 2 -device spapr-pci-host-bridge,index=256
  # Accepted (no refusal): kept so the model accepts them too.
  ref -M pseries,kernel-irqchip=on -cpu POWER9 -smp 2
  ref -M pseries,kernel-irqchip=split -cpu POWER9 -smp 2
  ref -M pseries,vsmt=3 -cpu POWER9 -smp 4
  ref -M pseries,ic-mode=xive,vsmt=8 -cpu POWER9 -smp 2,maxcpus=512
  ref -M pseries,ic-mode=xics,vsmt=8 -cpu POWER9 -smp 2,maxcpus=4096
  ref -M pseries-3.1,ic-mode=xive -cpu POWER9 -smp 2
  ref -M pseries,max-cpu-compat=power7 -cpu POWER9 -smp 2
  ref -M pseries-2.7 -smp 2 -device spapr-pci-host-bridge,index=255
  ref -M pseries -cpu POWER9 -smp 2048
fi
