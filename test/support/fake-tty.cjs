// Preloaded (NODE_OPTIONS=--require …) by tests of what a terminal sees: stderr claims to be a
// TTY, so the CLI draws its in-place progress line, while the test still captures the bytes.
Object.defineProperty(process.stderr, 'isTTY', { value: true });
