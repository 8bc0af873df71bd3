export async function getToken(): Promise<string> {
  const response = await fetch("/api/session", { method: "POST" });
  const { token } = (await response.json()) as { token: string };
  return token;
}
