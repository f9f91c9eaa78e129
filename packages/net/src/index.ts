export { formatHostPort } from './host-port.js';
export { probeTcp, type TcpProbe } from './probe-tcp.js';
export { redactUrl, redactUrlsInText } from './redact.js';
