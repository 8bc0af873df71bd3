"""Posts a ChatKit request the way the front end does."""

from app.main import app
from fastapi.testclient import TestClient


def test_create_thread_streams():
    client = TestClient(app)
    body = {
        "type": "threads.create",
        "params": {"input": {"content": [{"type": "text", "text": "Where is order A-1001?"}]}},
    }
    response = client.post("/chatkit", json=body, headers={"X-User": "u1"})
    assert response.status_code == 200
