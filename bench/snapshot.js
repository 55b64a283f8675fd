function xiveOf(m) {
    if (m.xive === null)
        throw new Error('the raw table copy takes a machine with a XIVE controller');
    return m.xive;
}
function bytesOf(v) {
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}
export const RAW_TABLE_COPY = {
    name: 'raw table copy (typed-array slices of the source status bytes, LSI map, EAS, END and thread-context tables)',
    snapshot(m) {
        const x = xiveOf(m);
        return {
            status: x.source.status.slice(),
            lsiMap: x.source.lsiMap.slice(),
            eas: bytesOf(x.router.eas).slice(),
            ends: bytesOf(x.router.ends).slice(),
            tctx: x.tctxRegs.slice(),
        };
    },
    restore(m, s) {
        const x = xiveOf(m);
        x.source.status.set(s.status);
        x.source.lsiMap.set(s.lsiMap);
        bytesOf(x.router.eas).set(s.eas);
        bytesOf(x.router.ends).set(s.ends);
        x.tctxRegs.set(s.tctx);
        // The CAM lines may differ from the ones indexed.
        for (const t of x.cpus)
            x.presenter.update(t);
    },
    bytes(s) {
        return s.status.byteLength + s.lsiMap.byteLength + s.eas.byteLength + s.ends.byteLength + s.tctx.byteLength;
    },
};
//# sourceMappingURL=snapshot.js.map