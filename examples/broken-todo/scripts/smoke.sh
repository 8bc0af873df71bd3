#!/usr/bin/env sh
# Sends one message to the local back end.
curl -sN -X POST http://127.0.0.1:8000/chatkit -H 'Content-Type: application/json' \
  -d '{"type": "threads.create", "params": {"input": {"content": [{"type": "text", "text": "add milk"}]}}}'
