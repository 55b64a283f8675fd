/**
 * Moving a running demo to another process over a local socket (127.0.0.1 only): the sender
 * writes a length-prefixed checkpoint and waits for the receiver's acknowledgement, so it only
 * exits once the other side holds the whole run.
 */
import { createServer, connect } from 'node:net';
import { UsageFailure } from './args.ts';
import type { Io } from './replay.ts';

const ACK = 'OK\n';
const MAX_CHECKPOINT = 1 << 30;

/** Listens on 127.0.0.1:port for one checkpoint; prints the port it listens on. */
export function receiveCheckpoint(port: number, io: Io): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      const chunks: Buffer[] = [];
      let size = -1;
      let got = 0;
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (size < 0 && got >= 4) {
          size = Buffer.concat(chunks).readUInt32LE(0);
          if (size > MAX_CHECKPOINT) {
            sock.destroy();
            server.close();
            reject(new UsageFailure(`received checkpoint announces ${size} bytes: refused`));
          }
        }
        if (size >= 0 && got >= size + 4) {
          const all = Buffer.concat(chunks);
          sock.end(ACK);
          server.close();
          resolve(new Uint8Array(all.subarray(4, 4 + size)));
        }
      });
      sock.on('error', (e) => reject(new UsageFailure(`checkpoint transfer failed: ${e.message}`)));
    });
    server.on('error', (e: NodeJS.ErrnoException) => reject(new UsageFailure(`cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}`)));
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      io.out(`listening on 127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : port}\n`);
    });
  });
}

/** Sends a checkpoint to a listening demo and waits for its acknowledgement. */
export function sendCheckpoint(port: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(bytes.length, 0);
      sock.write(len);
      sock.write(bytes);
    });
    let reply = '';
    sock.on('data', (d) => (reply += d.toString()));
    sock.on('end', () => (reply === ACK ? resolve() : reject(new UsageFailure(`the receiving demo did not acknowledge the checkpoint`))));
    sock.on('error', (e: NodeJS.ErrnoException) => reject(new UsageFailure(`cannot send the checkpoint to 127.0.0.1:${port}: ${e.code ?? e.message}`)));
  });
}
