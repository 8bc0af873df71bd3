"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";

export default function SupportChat() {
  const { control } = useChatKit({
    api: {
      url: "http://localhost:8000/chatkit",
      domainKey: "domain_pk_localhost_dev",
    },
    theme: { colorScheme: "light" },
    startScreen: { greeting: "Ask about an order" },
  });
  return <ChatKit control={control} className="h-[600px] w-full" />;
}
