import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Inodes of the sockets process `pid` has open (empty when /proc cannot tell). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // Closed between the listing and the read.
    }
  }
  return inodes;
}

/** Local port -> socket inode, for every IPv4 and IPv6 TCP socket on the machine. */
function tcpSocketsByPort(): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const inode = fields[9];
      if (local === undefined || inode === undefined) continue;
      const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      byPort.set(port, [...(byPort.get(port) ?? []), inode]);
    }
  }
  return byPort;
}

/**
 * Which of `pids` owns the local end of each TCP connection whose local port is in `ports`
 * (Linux only: read from /proc; a port whose connection is gone maps to nothing). A receiver
 * sees a sender's port as `socket.remotePort`, so this tells which Herald process sent what.
 */
export function portOwners(ports: Iterable<number>, pids: readonly number[]): Map<number, number> {
  const inodesOf = pids.map((pid) => ({ pid, inodes: socketInodes(pid) }));
  const byPort = tcpSocketsByPort();
  const owners = new Map<number, number>();
  for (const port of ports) {
    for (const inode of byPort.get(port) ?? []) {
      const owner = inodesOf.find(({ inodes }) => inodes.has(inode));
      if (owner !== undefined) owners.set(port, owner.pid);
    }
  }
  return owners;
}
