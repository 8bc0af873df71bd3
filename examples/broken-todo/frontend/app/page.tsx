import ChatWidget from "../components/ChatWidget";

export default function Home() {
  return (
    <main>
      <h1>To-do</h1>
      <ChatWidget />
    </main>
  );
}
