#!/usr/bin/env bash
# Sends one message to the local API and prints the event stream.
set -euo pipefail
curl -sN http://localhost:8080/api/chatkit \
  -H 'Content-Type: application/json' \
  -H "Authorization: Bearer ${TOKEN:-dev}" \
  -d '{"type": "threads.create", "params": {"input": {"content": [{"type": "text", "text": "3 days in Lisbon"}], "attachments": []}}}'
