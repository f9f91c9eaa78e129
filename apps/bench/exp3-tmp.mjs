import { Redis } from 'ioredis';

const r = new Redis();
await r.config('SET', 'slowlog-log-slower-than', '0');
await r.config('SET', 'slowlog-max-len', '20000');
await r.slowlog('RESET');
await new Promise((res) => setTimeout(res, 4000));
const log = await r.slowlog('GET', 20000);
await r.config('SET', 'slowlog-log-slower-than', '10000');
const by = new Map();
for (const [, , us, args] of log) {
  let key = args[0];
  if (/^evalsha$/i.test(args[0])) {
    const firstKey = args[3] ?? '';
    key = 'evalsha ' + args[1].slice(0, 8) + ' ' + firstKey.replace(/^[^:]*:[^:]*:/, '').slice(0, 30);
  }
  const e = by.get(key) ?? { n: 0, us: 0 };
  e.n++;
  e.us += us;
  by.set(key, e);
}
const total = [...by.values()].reduce((a, e) => a + e.us, 0);
console.log('commands', log.length, 'total us', total);
for (const [k, e] of [...by].sort((a, b) => b[1].us - a[1].us).slice(0, 15))
  console.log(String(e.us).padStart(8), String(e.n).padStart(6), (e.us / e.n).toFixed(0).padStart(5), k);
r.disconnect();
