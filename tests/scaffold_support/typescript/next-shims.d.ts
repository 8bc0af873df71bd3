// The two `next` modules the generated layout imports, typed as Next 15/16 types them; installing
// all of Next only to type-check one import would cost a large download per test run.
declare module "next" {
  export interface Metadata {
    title?: string | null;
    description?: string | null;
  }
}

declare module "next/script" {
  import type { FC, ScriptHTMLAttributes } from "react";

  export interface ScriptProps extends ScriptHTMLAttributes<HTMLScriptElement> {
    src: string;
    strategy?: "beforeInteractive" | "afterInteractive" | "lazyOnload" | "worker";
  }

  const Script: FC<ScriptProps>;
  export default Script;
}
