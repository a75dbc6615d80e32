"""Writes seeded log-like text, gzipped by `gzip -1`, to standard output: a card number on the
first line, an AWS key between the middle blocks, an SSN as the last line; says on standard
error the key's and the SSN's lines and the content's size. For the measured figures of large
compressed files (README, "Measured figures").

Usage: python3 benches/gzip_text.py BLOCKS > big.txt.gz   (BLOCKS of 4 MiB of text each;
1315 give 5.5 GB of text in a 2.0 GB file)
"""
import random
import subprocess
import sys

blocks = int(sys.argv[1])
rng = random.Random(15)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 9)))
         for _ in range(400)]
services = ['billing', 'auth', 'search', 'mail', 'export', 'ingest', 'report']
lines = []
size = 0
while size < (4 << 20) - 300:
    line = '2026-11-%02dT%02d:%02d:%02d.%03dZ host-%d svc=%s req=%08x user=u%d status=%d msg="%s"\n' % (
        rng.randint(1, 30), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
        rng.randint(0, 999), rng.randint(1, 64), rng.choice(services), rng.getrandbits(32),
        rng.randint(1000, 99999), rng.choice([200, 200, 200, 201, 204, 301, 404, 500]),
        ' '.join(rng.choice(words) for _ in range(rng.randint(4, 14))))
    lines.append(line)
    size += len(line)
block = ''.join(lines).encode()
block_lines = block.count(b'\n')
gz = subprocess.Popen(['gzip', '-1', '-c'], stdin=subprocess.PIPE)
out = gz.stdin
head, key, tail = (b'card 4111 1111 1111 1111\n', b'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n',
                   b'ssn: 536-22-8813\n')
out.write(head)
line = 1
for i in range(blocks):
    if i == blocks // 2:
        out.write(key)
        line += 1
        sys.stderr.write('key on line %d\n' % line)
    # Written again and again: deflate's window (32 KiB) never sees the copy before.
    out.write(block)
    line += block_lines
out.write(tail)
line += 1
out.close()
gz.wait()
sys.stderr.write('SSN on line %d; %d bytes of text\n'
                 % (line, blocks * len(block) + len(head) + len(key) + len(tail)))
