"""An in-memory store must not serve a production deployment or several worker processes.

## Why
A store that keeps threads in dicts and lists on the instance loses them whenever the process ends: every deploy,
restart, crash or scale-down. The browser still holds the thread id, so the next `threads.get_by_id` fails with
HTTP 500 and `threads.add_user_message` gets a 200 and an aborted stream. With several workers (`--workers 4`,
`gunicorn -w 4`) it is worse at once: each process has its own copy, so a thread created by one worker does not
exist for the next request, which another worker answers.

"Production" means a Dockerfile `CMD`/`ENTRYPOINT`, a compose `command`, a Procfile, or a platform entry (Vercel,
Render, Railway, Fly, App Engine) that starts a module from which the store is reachable by imports. A development
launcher (`uvicorn main:app --reload`, a `__main__` block) with one worker is fine.

## Wrong
```dockerfile
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--workers", "4"]
```
```python
chatkit_store = MemoryStore()   # main.py
```

## Right
```python
chatkit_store = PostgresStore(os.environ["DATABASE_URL"])   # or SQLite on a volume for one instance
```
The finding sits on the store's instantiation. No automatic fix: pick a persistent store (the official samples'
`MemoryStore` says "A production app would implement this using a persistent database").
"""

from __future__ import annotations

import os
from pathlib import Path

from chatkit_fix.analysis import store as st
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK308",
    slug="memory-store-in-production",
    safety=Safety.REPORT,
    summary="an in-memory store is served by a production entry point (Dockerfile, compose, Procfile, platform) or by several workers",
    url="https://github.com/openai/openai-chatkit-advanced-samples/blob/main/examples/customer-support/backend/app/memory_store.py",
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"store"),
)


@RULE.check_project
def check_project(pctx):
    memory = {(s.path, s.node.lineno): s for s in st.project_store_classes(pctx) if not s.is_abstract() and st.is_in_memory(s)}
    if not memory:
        return
    # served, not merely instantiated: the store a ChatKit server is given (a fallback built only when the main
    # store fails to build does not serve)
    served = []
    for binding in st.server_stores(pctx):
        if binding.attachments or binding.fallback:
            continue
        resolved = st.resolve_class(pctx, binding.ctx, binding.call.func)
        store = memory.get((resolved[0].path, resolved[1].lineno)) if resolved is not None else None
        if store is not None:
            served.append((binding, store))
    if not served:
        return
    serving = [launcher for launcher in st.launchers(pctx) if launcher.production or launcher.workers > 1]
    if not serving:
        return
    for binding, store in served:
        path = binding.ctx.path.resolve()
        launcher = next((l for l in serving if path in st.reachable_files(pctx, l.entries, within=_context_of(l))), None)
        if launcher is None:
            continue
        ctx = pctx.parsed(binding.ctx.path)  # this rule's view of the file (the binding was found by another rule)
        if ctx is None:
            continue
        where = f"{pctx.project.relative(launcher.source)}:{launcher.line}"
        if launcher.workers > 1:
            detail = (f"{launcher.workers} worker processes ({where}) each keep their own copy, so a thread created "
                      "by one is missing for the next request; all of them lose every thread on restart")
        else:
            detail = f"the production entry point {where} serves it: every deploy or restart loses all threads"
        yield ctx.finding(
            ctx.header_span(binding.call),
            f"{store.name} keeps threads in process memory: {detail}",
            hint="use a persistent store (Postgres, SQLite on a volume, Redis) in production",
        )


def _context_of(launcher) -> Path:
    """The folder a launcher runs code from: its own folder and its entry files' common ancestor."""
    folders = [str(launcher.source.resolve().parent), *(str(entry.resolve().parent) for entry in launcher.entries)]
    return Path(os.path.commonpath(folders))


_MEMORY = '''from chatkit.store import NotFoundError, Store


class MemoryStore(Store[dict]):
    def __init__(self):
        self.threads = {}
        self.items = {}

    async def load_thread(self, thread_id, context):
        if thread_id not in self.threads:
            raise NotFoundError(thread_id)
        return self.threads[thread_id]

    async def save_thread(self, thread, context):
        self.threads[thread.id] = thread
'''

_MAIN = '''from fastapi import FastAPI
from chatkit.server import ChatKitServer

from app.memory_store import MemoryStore


class AppChatKitServer(ChatKitServer[dict]):
    async def respond(self, thread, input, context):
        yield None


app = FastAPI()
server = AppChatKitServer(MemoryStore())
'''

_POSTGRES = '''from chatkit.store import Store


class PostgresStore(Store[dict]):
    def __init__(self, pool):
        self.pool = pool
        self.cache = {}

    async def load_thread(self, thread_id, context):
        row = await self.pool.fetchrow("select * from threads where id = $1", thread_id)
        return row
'''

RULE.cases(
    valid=[
        Valid({"backend/app/memory_store.py": _MEMORY, "backend/app/main.py": _MAIN,
               "backend/requirements.txt": "fastapi\n", "backend/run.sh": "uvicorn app.main:app --reload --port 8000\n"},
              name="development launcher with reload"),
        Valid({"backend/app/store.py": _POSTGRES, "backend/app/main.py": _MAIN.replace("memory_store import MemoryStore", "store import PostgresStore")
               .replace("MemoryStore()", "PostgresStore(pool)"),
               "backend/requirements.txt": "fastapi\n", "backend/Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "app.main:app"]\n'},
              name="persistent store in production"),
        Valid({"backend/chatkit_server.py": _MEMORY + "\n\ndef get_server():\n    return MemoryStore()\n",
               "backend/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n# from chatkit_server import get_server\n",
               "backend/requirements.txt": "fastapi\n", "backend/Dockerfile": "FROM python:3.11-slim\nCMD [\"python\", \"start_server.py\"]\n",
               "backend/start_server.py": "import os\nos.system('uvicorn main:app --host 0.0.0.0 --port 7860 --workers 1')\n"},
              name="store not reachable from the production entry point"),
        Valid({"backend/app/memory_store.py": _MEMORY, "backend/app/store.py": _POSTGRES,
               "backend/app/main.py": "from fastapi import FastAPI\nfrom chatkit.agents import AgentContext\nfrom chatkit.server import ChatKitServer\n\n"
                                      "from app.memory_store import MemoryStore\nfrom app.store import PostgresStore\n\n"
                                      "app = FastAPI()\n\ntry:\n    store = PostgresStore(pool)\nexcept Exception:\n    store = MemoryStore()\n"
                                      "server = ChatKitServer(store)\n\n\n"
                                      "async def grade(thread, request):\n"
                                      "    context = AgentContext(thread=thread, store=MemoryStore(), request_context={})\n"
                                      "    return context\n",
               "backend/requirements.txt": "fastapi\n", "backend/Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "app.main:app"]\n'},
              name="a throwaway store in an agent context and an except-branch fallback are not served"),
    ],
    invalid=[
        Invalid({"backend/app/memory_store.py": _MEMORY, "backend/app/main.py": _MAIN, "backend/requirements.txt": "fastapi\n",
                 "backend/Dockerfile": 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]\n'},
                None, findings=[("backend/app/main.py", 13, 27, "MemoryStore keeps threads in process memory: the production entry point backend/Dockerfile:4 serves it: every")], name="Dockerfile CMD"),
        Invalid({"app/memory_store.py": _MEMORY, "app/main.py": _MAIN, "requirements.txt": "fastapi\n",
                 "Procfile": "web: gunicorn -k uvicorn.workers.UvicornWorker -w 4 app.main:app\n"},
                None, findings=[("app/main.py", 13, 27, "MemoryStore keeps threads in process memory: 4 worker processes (Procfile:1) each keep their own copy")], name="Procfile with several workers"),
        Invalid({"chatbot-backend/app/memory_store.py": _MEMORY, "chatbot-backend/app/main.py": _MAIN,
                 "chatbot-backend/pyproject.toml": "[project]\nname = 'x'\n",
                 "docker-compose.yml": "services:\n  api:\n    build: ./chatbot-backend\n    command: uvicorn app.main:app --host 0.0.0.0 --reload\n    working_dir: /app\n",
                 "chatbot-backend/Dockerfile": "FROM python:3.12\nCMD uvicorn app.main:app --host 0.0.0.0 --port $PORT\n"},
                None, findings=[("chatbot-backend/app/main.py", 13, 27, "MemoryStore keeps threads in process memory: the production entry point chatbot-backend/Dockerfile:2 serves")], name="compose and Dockerfile shell form"),
        Invalid({"backend/memory_store.py": _MEMORY,
                 "backend/main.py": "import uvicorn\nfrom chatkit.server import ChatKitServer\nfrom fastapi import FastAPI\nfrom memory_store import MemoryStore\n\n"
                                    "app = FastAPI()\nstore = MemoryStore()\nserver = ChatKitServer(store)\n\n"
                                    "if __name__ == '__main__':\n    uvicorn.run('main:app', workers=4)\n"},
                None, findings=[("backend/main.py", 7, 9, "MemoryStore keeps threads in process memory: 4 worker processes (backend/main.py:11) each keep their own copy")], name="several workers from a __main__ launcher"),
        Invalid({"backend/memory_store.py": _MEMORY,
                 "backend/demo_data.py": "from chatkit.server import ChatKitServer\nfrom memory_store import MemoryStore\n\nscratch = ChatKitServer(MemoryStore())\n",
                 "backend/main.py": "import uvicorn\nfrom chatkit.server import ChatKitServer\nfrom fastapi import FastAPI\nfrom memory_store import MemoryStore\n\n"
                                    "app = FastAPI()\nstore = MemoryStore()\nserver = ChatKitServer(store)\n\n"
                                    "if __name__ == '__main__':\n    uvicorn.run('main:app', workers=2)\n"},
                None, findings=[("backend/main.py", 7, 9, "MemoryStore keeps threads in process memory: 2 worker processes (backend/main.py:11)")],
                name="two workers; another served instance in a script no launcher reaches"),
    ],
)


_LAZY_SERVER = {
    "backend/app/integrations/chatkit/server.py": _MEMORY + '''

from chatkit.server import ChatKitServer


class AdapterServer(ChatKitServer):
    def __init__(self):
        store = MemoryStore()
        super().__init__(store)
''',
    "backend/app/agents/__init__.py": "def create_server():\n    from app.integrations.chatkit.server import AdapterServer\n\n"
                                      "    return AdapterServer()\n",
    "backend/app/routers/chat.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n_server = None\n\n\n"
                                   "def get_server():\n    global _server\n    if _server is None:\n"
                                   "        from app.agents import create_server\n\n        _server = create_server()\n    return _server\n",
    "backend/app/main.py": "from fastapi import FastAPI\n\nfrom app.routers.chat import router\n\napp = FastAPI()\napp.include_router(router)\n",
    "backend/pyproject.toml": "[project]\nname = 'backend'\n",
    "backend/docker-entrypoint.sh": "#!/bin/bash\ncase \"$1\" in\n  fastapi)\n    exec uvicorn app.main:app --host 0.0.0.0 --workers ${WORKERS:-1}\n    ;;\n"
                                    "  fastapi-dev)\n    exec uvicorn app.main:app --reload\n    ;;\nesac\n",
    "backend/Dockerfile": 'FROM python:3.12-slim\nWORKDIR /app\nCOPY app ./app\nCOPY docker-entrypoint.sh /docker-entrypoint.sh\n'
                          'ENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ["fastapi"]\n',
}

_SERVED = {"api/memory_store.py": _MEMORY,
           "api/chat.py": "from fastapi import FastAPI\nfrom chatkit.server import ChatKitServer\n\nfrom memory_store import MemoryStore\n\n"
                          "app = FastAPI()\nserver = ChatKitServer(MemoryStore())\n"}

_SINGLETON = {
    "backend/memory_store.py": _MEMORY,
    "backend/services/chat.py": "from chatkit.server import ChatKitServer\n\nfrom memory_store import MemoryStore\n\n\n"
                                "class GvsesServer(ChatKitServer):\n    def __init__(self, data_store):\n        super().__init__(data_store)\n\n\n"
                                "_server = None\n_store = None\n\n\ndef get_server():\n    global _server, _store\n"
                                "    if _server is None:\n        _store = MemoryStore()\n        _server = GvsesServer(data_store=_store)\n"
                                "    return _server\n",
    "backend/mcp_server.py": "from fastapi import FastAPI\n\nfrom services.chat import get_server\n\napp = FastAPI()\n",
    "backend/requirements.txt": "fastapi\n",
    "backend/start.sh": "#!/bin/bash\ncd /app\nuvicorn mcp_server:app --host 0.0.0.0 --port ${PORT:-8000} --workers 2\n",
    "backend/Dockerfile": 'FROM python:3.11\nWORKDIR /app\nCOPY . .\nCMD ["/bin/bash", "./start.sh"]\n',
}

RULE.cases(
    invalid=[
        Invalid(_SINGLETON, None,
                findings=[("backend/services/chat.py", 18, 18, "2 worker processes (backend/Dockerfile:4)")],
                name="a start script run by bash; a global store handed over by keyword to the server's __init__"),
        Invalid(_LAZY_SERVER, None,
                findings=[("backend/app/integrations/chatkit/server.py", 23, 17, "the production entry point backend/Dockerfile:5 serves it")],
                name="served by a Dockerfile entrypoint script's selected branch, through lazily created servers"),
        Invalid({**_SERVED, "vercel.json": '{"rewrites": [{"source": "/chatkit", "destination": "/api/chat"}]}\n'}, None,
                findings=[("api/chat.py", 7, 24, "MemoryStore keeps threads in process memory")],
                name="a Vercel function under api/"),
        Invalid({**_SERVED, "requirements.txt": "fastapi\n",
                 "deploy/supervisord.conf": "[program:chat]\ncommand=uvicorn chat:app --app-dir ../api --port 8000\n"}, None,
                findings=[("api/chat.py", 7, 24, "the production entry point deploy/supervisord.conf:2 serves it")],
                name="a supervisord program"),
        Invalid({**_SERVED, "requirements.txt": "fastapi\n",
                 "k8s/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
                                        "        - name: chat\n          command: [\"uvicorn\"]\n          args: [\"chat:app\", \"--app-dir\", \"../api\", \"--workers\", \"3\"]\n"}, None,
                findings=[("api/chat.py", 7, 24, "3 worker processes (k8s/deployment.yaml:8)")],
                name="a Kubernetes manifest with command and args"),
    ],
)
