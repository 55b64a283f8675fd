#!/usr/bin/env bash
# Takes one QEMU 7.2 pseries capture: boots the Debian installer guest under TCG with the interrupt
# controller trace events on, sends HMP monitor commands (through QMP human-monitor-command) at
# given times, stops the VM and records `info pic`; then, in a separate run, dumps the machine's
# device tree (-machine ...,dumpdtb=FILE). Also records what QEMU prints when it refuses a
# configuration. The recipe is the one described in test/fixtures/qemu-extra/README.md.
#
#   scripts/capture-qemu.sh [OPTIONS] NAME -- QEMU-OPTIONS...
#
# QEMU-OPTIONS are the capture's own options (-M/-machine, -cpu, -smp, -device, -append, -accel);
# the common ones (memory, kernel, initrd, serial, trace events, log file, QMP socket) are added
# here. -M must be given as one `-M TYPE[,prop=value...]` (or -machine) so the tree run can add
# dumpdtb. Without -accel, `-accel tcg,thread=single`; without -append, the installer's
# "console=hvc0 priority=critical".
#
# Options:
#   -o DIR         output directory (default test/fixtures/qemu-configs)
#   -m SIZE        guest RAM (default 1G; a migration stream holds every non-zero page)
#   -t SECONDS     time from QEMU's start to `stop` + `info pic` (default 50)
#   -c 'T:CMD'     HMP command CMD at T seconds after start (repeatable, in time order)
#   --paused       start QEMU with -S (the guest never runs); `stop` + `info pic` at -t
#   --no-dtb       no tree run
#   --dtb-only     only the tree run (NAME.dtb)
#   --no-trace     no trace run (same as --dtb-only)
#   --refusal FILE run QEMU once with the options and -S (no trace, no monitor), expecting it to
#                  refuse them; append {"args", "exit", "stderr"} to the JSON list in FILE (created
#                  if missing). A QEMU still running after 15 s (it accepted the configuration,
#                  built and reset the machine) is killed and recorded with exit null.
#   --keep-console keep NAME.console (the guest's serial output; deleted otherwise)
#
# Files: NAME.trace (the trace log), NAME.pic (`info pic` after `stop`, \r removed), NAME.monitor
# (every monitor command with the time it was sent, the trace's line count at that moment and
# QEMU's answer), NAME.dtb. Environment: QEMU (default qemu-system-ppc64), GUEST_DIR (where vmlinux
# and initrd.gz are).
set -euo pipefail

QEMU=${QEMU:-qemu-system-ppc64}
GUEST_DIR=${GUEST_DIR:-/usr/lib/debian-installer/images/12/ppc64el/text/debian-installer/ppc64el}
OUT=test/fixtures/qemu-configs
DURATION=50
CMDS=()
PAUSED=0
DO_TRACE=1
DO_DTB=1
REFUSAL=
KEEP_CONSOLE=0
RAM=1G

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -o) OUT=$2; shift 2 ;;
    -m) RAM=$2; shift 2 ;;
    -t) DURATION=$2; shift 2 ;;
    -c) CMDS+=("$2"); shift 2 ;;
    --paused) PAUSED=1; shift ;;
    --no-dtb) DO_DTB=0; shift ;;
    --dtb-only|--no-trace) DO_TRACE=0; shift ;;
    --refusal) REFUSAL=$2; shift 2 ;;
    --keep-console) KEEP_CONSOLE=1; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) if [ -z "${NAME:-}" ]; then NAME=$1; shift; else break; fi ;;
  esac
done
[ "${1:-}" = "--" ] && shift
[ -n "${NAME:-}" ] || [ -n "$REFUSAL" ] || usage
USER_OPTS=("$@")

# Split the capture's options: -M/-machine value (so dumpdtb can be added), -append, -accel.
MACHINE=
APPEND="console=hvc0 priority=critical"
ACCEL="tcg,thread=single"
REST=()
i=0
while [ $i -lt ${#USER_OPTS[@]} ]; do
  o=${USER_OPTS[$i]}
  case "$o" in
    -M|-machine|--machine) MACHINE=${USER_OPTS[$((i + 1))]}; i=$((i + 2)) ;;
    -append) APPEND=${USER_OPTS[$((i + 1))]}; i=$((i + 2)) ;;
    -accel) ACCEL=${USER_OPTS[$((i + 1))]}; i=$((i + 2)) ;;
    *) REST+=("$o"); i=$((i + 1)) ;;
  esac
done

BASE=(-accel "$ACCEL" -m "$RAM" -nographic -nodefaults -kernel "$GUEST_DIR/vmlinux" -initrd "$GUEST_DIR/initrd.gz" -append "$APPEND")
TRACES=(-trace 'spapr_xive*' -trace 'xive_*' -trace 'xics_*' -trace 'spapr_cas*' -trace 'spapr_pci_msi*' -trace 'spapr_pci_lsi*' -trace 'spapr_drc*')

if [ -n "$REFUSAL" ]; then
  # The configuration exactly as given, plus the common options of a capture (without trace,
  # monitor or serial file) so that QEMU checks what it checks when it really starts.
  ARGS=()
  [ -n "$MACHINE" ] && ARGS+=(-M "$MACHINE")
  ARGS+=("${REST[@]}")
  ERR=$(mktemp)
  set +e
  # -S: an accepted configuration builds and resets the machine (where most checks are), then
  # waits without running the guest until it is killed.
  timeout --signal=KILL 15 "$QEMU" "${ARGS[@]}" "${BASE[@]}" -serial null -S 2>"$ERR" >/dev/null
  RC=$?
  set -e
  # An "args" list in QEMU's own syntax: the capture's options, then -accel as used.
  ARGS+=(-accel "$ACCEL")
  python3 - "$REFUSAL" "$RC" "$ERR" "${ARGS[@]}" <<'PY'
import json, os, sys
path, rc, errf, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
stderr = open(errf, encoding='utf-8', errors='replace').read()
entry = {"args": args, "exit": None if rc == 137 else rc, "stderr": stderr}
items = json.load(open(path)) if os.path.exists(path) else []
items.append(entry)
with open(path, 'w') as f:
    f.write('[\n' + ',\n'.join('  ' + json.dumps(e) for e in items) + '\n]\n')
print(f"exit {entry['exit']}: {stderr.strip()}")
PY
  rm -f "$ERR"
  exit 0
fi

mkdir -p "$OUT"
cd "$OUT"

if [ $DO_DTB = 1 ]; then
  [ -n "$MACHINE" ] || { echo "a dtb needs -M TYPE" >&2; exit 2; }
  rm -f "$NAME.dtb"
  "$QEMU" -M "$MACHINE,dumpdtb=$NAME.dtb" "${REST[@]}" "${BASE[@]}" -serial null
  echo "$NAME.dtb: $(stat -c %s "$NAME.dtb") bytes"
fi

[ $DO_TRACE = 1 ] || exit 0

rm -f "$NAME.trace" "$NAME.pic" "$NAME.monitor" "$NAME.console" "$NAME.qmp"
MOPTS=()
[ -n "$MACHINE" ] && MOPTS=(-M "$MACHINE")
[ $PAUSED = 1 ] && MOPTS+=(-S)
START=$(date +%s.%N)
"$QEMU" "${MOPTS[@]}" "${REST[@]}" "${BASE[@]}" -serial "file:$NAME.console" \
  "${TRACES[@]}" -D "$NAME.trace" -qmp "unix:$NAME.qmp,server=on,wait=off" &
QPID=$!

# QMP client: the scheduled HMP commands, then stop / info pic / info status / info cpus / quit.
python3 - "$NAME" "$START" "$DURATION" "${CMDS[@]}" <<'PY'
import json, os, socket, sys, time
name, start, duration, sched = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
for _ in range(200):
    if os.path.exists(name + '.qmp'):
        break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
for _ in range(200):
    try:
        s.connect(name + '.qmp'); break
    except OSError:
        time.sleep(0.05)
f = s.makefile('rw')
def recv():
    while True:
        m = json.loads(f.readline())
        if 'event' not in m:
            return m
def qmp(cmd, **args):
    f.write(json.dumps({'execute': cmd, 'arguments': args} if args else {'execute': cmd}) + '\n'); f.flush()
    return recv()
recv()  # greeting
qmp('qmp_capabilities')
def lines():
    try:
        with open(name + '.trace', 'rb') as t:
            return sum(b.count(b'\n') for b in iter(lambda: t.read(1 << 20), b''))
    except FileNotFoundError:
        return 0
log = open(name + '.monitor', 'w')
def hmp(cmd, at):
    n = lines()
    r = qmp('human-monitor-command', **{'command-line': cmd})
    out = r.get('return', json.dumps(r.get('error'))).replace('\r', '')
    log.write(f'[{at:g} s, trace line {n}] {cmd}\n{out}')
    if out and not out.endswith('\n'):
        log.write('\n')
    log.flush()
    return out
def wait_until(t):
    d = start + t - time.time()
    if d > 0:
        time.sleep(d)
try:
    for item in sched:
        t, cmd = item.split(':', 1)
        wait_until(float(t))
        hmp(cmd, float(t))
    wait_until(duration)
    hmp('stop', duration)
    pic = hmp('info pic', duration)
    open(name + '.pic', 'w').write(pic)
    hmp('info status', duration)
    hmp('info cpus', duration)
    log.write(f'trace lines at the end: {lines()}\n')
    qmp('quit')
except (OSError, ValueError) as e:
    log.write(f'QEMU went away ({e!r}); trace lines at the end: {lines()}\n')
    print(f'{name}: WARNING: QEMU ended before the monitor commands were done', file=sys.stderr)
PY
wait $QPID || echo "$NAME: QEMU exit status $?"
rm -f "$NAME.qmp"
echo "$NAME.trace: $(wc -l < "$NAME.trace") lines; $NAME.pic: $(cat "$NAME.pic" 2>/dev/null | wc -l) lines"
if [ $PAUSED = 1 ]; then
  :
elif grep -q 'Select a language' "$NAME.console" 2>/dev/null; then
  echo "$NAME: the guest reached the installer's first menu"
else
  echo "$NAME: WARNING: no 'Select a language' on the console"
fi
[ $KEEP_CONSOLE = 1 ] || rm -f "$NAME.console"
