import type { NextConfig } from "next";

const config: NextConfig = {
  async rewrites() {
    return [{ source: "/api/chatkit", destination: "http://localhost:8080/api/chatkit" }];
  },
};

export default config;
