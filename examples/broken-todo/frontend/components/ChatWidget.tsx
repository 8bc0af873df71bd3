"use client";

import { useState } from "react";
import { ChatKit, useChatKit } from "@openai/chatkit-react";

export default function ChatWidget() {
  const [open, setOpen] = useState(false);
  const { control } = useChatKit({
    api: {
      url: "http://localhost:8000/chatkit",
      domainKey: "domain_pk_localhost_dev",
      fetch: (input: RequestInfo | URL, init?: RequestInit) =>
        fetch(input, {
          ...init,
          headers: { ...init?.headers, Authorization: `Bearer ${localStorage.getItem("token")}` },
        }),
    },
  });
  return (
    <div>
      <button onClick={() => setOpen(!open)}>Chat</button>
      <div className={open ? "fixed bottom-4 right-4" : "hidden"}>
        <ChatKit control={control} />
      </div>
    </div>
  );
}
