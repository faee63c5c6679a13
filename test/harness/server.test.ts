import { startServer, httpReady } from './server.js';

describe('test-server harness', () => {
  test('starts a real server on a free port, waits for it, and stops its whole process group', async () => {
    const script = `require('http').createServer((q,s)=>s.end('ok')).listen(Number(process.argv[1]),'127.0.0.1')`;
    // A shell parent with a node child: stop() must take both.
    const srv = await startServer({
      name: 'echo',
      command: 'sh',
      args: (port) => ['-c', `"${process.execPath}" -e "${script}" ${port}; sleep 1000`],
      ready: httpReady('/'),
    });
    expect(await (await fetch(srv.endpoint)).text()).toBe('ok');
    await srv.stop();
    await expect(fetch(srv.endpoint, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
  });

  test('a server that exits during start-up fails with its log file named', async () => {
    await expect(startServer({ name: 'dies', command: 'sh', args: () => ['-c', 'exit 3'] })).rejects.toThrow(
      /dies exited during start-up \(code 3.*see .*dies\.log/,
    );
  });

  test('a missing executable fails clearly', async () => {
    await expect(
      startServer({ name: 'nothing', command: '/nonexistent/binary', args: () => [] }),
    ).rejects.toThrow(/could not start \/nonexistent\/binary/);
  });
});
