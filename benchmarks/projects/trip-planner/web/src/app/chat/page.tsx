"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { useEffect, useState } from "react";

import { getToken } from "@/lib/auth";

export default function ChatPage() {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    getToken().then(() => setReady(true));
  }, []);
  const { control } = useChatKit({
    api: { url: "/api/chatkit", domainKey: process.env.NEXT_PUBLIC_CHATKIT_DOMAIN_KEY ?? "" },
    onError: ({ error }) => console.error(error),
  });
  if (!ready) return <p>Loading…</p>;
  return <ChatKit control={control} style={{ height: "80vh" }} />;
}
