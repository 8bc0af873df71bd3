import type { ReactNode } from "react";

export default function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async />
      </head>
      <body>{children}</body>
    </html>
  );
}
