"""Support for the browser end-to-end suite, tests/test_browser_e2e.py.

- `next-app/`: the pinned package.json and committed package-lock.json of the generated Next.js front end;
- `chatkit_stub.js`: the stand-in served for the ChatKit CDN script (a stub, and it says so);
- `recorder.py`: wraps the generated back end to log what it receives;
- `harness.py`: npm install cache, `next build`/`next start`, Chromium flags, artifacts.
"""
