// Realtime through the real @base44/sdk 0.8.50 (and, for what the SDK cannot show, socket.io-client itself).
//
//   MODE=subscribe SERVER_URL=.. APP_ID=.. TOKEN=.. ENTITIES=Task,RtNote node realtime.mjs
//     subscribes with entities.X.subscribe(cb) and prints one line per event:  EVENT <Entity> <json>
//     A second, raw socket (same token) joins the same rooms and prints every update_model it gets:
//     RAW <room>. Also: CONNECTED, DISCONNECT <reason>, ERROR <message>. Runs until stdin closes.
//   MODE=probe SERVER_URL=.. APP_ID=.. TOKEN=..  node realtime.mjs
//     the refusals: no token, another app's room, a malformed room, a flood of join/leave; one line each.

import { io } from "socket.io-client";
import { createClient } from "sdk08";

const env = process.env;
const PATH = "/ws-user-apps/socket.io/";
const out = (line) => process.stdout.write(`${line}\n`);

function raw(query) {
  return io(env.SERVER_URL, { path: PATH, transports: ["websocket"], query, reconnection: false });
}

if (env.MODE === "subscribe") {
  const base44 = createClient({ serverUrl: env.SERVER_URL, appId: env.APP_ID, token: env.TOKEN });
  const entities = env.ENTITIES.split(",");
  for (const name of entities) {
    base44.entities[name].subscribe((event) => out(`EVENT ${name} ${JSON.stringify(event)}`));
  }
  const socket = raw({ app_id: env.APP_ID, token: env.TOKEN });
  socket.on("connect", () => {
    for (const name of entities) socket.emit("join", `entities:${env.APP_ID}:${name}`);
    out("CONNECTED");
  });
  socket.on("update_model", (msg) => out(`RAW ${msg.room}`));
  socket.on("error", (err) => out(`ERROR ${err?.message ?? err}`));
  socket.on("disconnect", (reason) => out(`DISCONNECT ${reason}`));
  socket.on("connect_error", (err) => out(`CONNECT_ERROR ${err.message}`));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
} else if (env.MODE === "probe") {
  const once = (socket, events, ms = 5000) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(["timeout"]), ms);
      for (const name of events) socket.on(name, (arg) => { clearTimeout(timer); resolve([name, arg?.message ?? arg]); });
    });
  const anonymous = raw({ app_id: env.APP_ID, anonymous_id: "visitor-1" });
  const [what, why] = await once(anonymous, ["connect", "connect_error"]);
  out(`NO_TOKEN ${what} ${why ?? ""}`);
  anonymous.close();

  const socket = raw({ app_id: env.APP_ID, token: env.TOKEN });
  out(`SIGNED_IN ${(await once(socket, ["connect", "connect_error"]))[0]}`);
  for (const [label, room] of [["OTHER_APP", "entities:someone-else:Task"], ["MALFORMED", "entities;drop table"],
                               ["NOT_A_STRING", { room: 1 }], ["BAD_ENTITY", `entities:${env.APP_ID}:../../etc`]]) {
    const answer = once(socket, ["error"], 3000);
    socket.emit("join", room);
    const [name, message] = await answer;
    out(`${label} ${name} ${message ?? ""}`);
  }
  for (let i = 0; i < 3000; i += 1) {
    socket.emit("join", `entities:${env.APP_ID}:Flood${i % 400}`);
    socket.emit("leave", `entities:${env.APP_ID}:Flood${i % 400}`);
  }
  for (let i = 0; i < 150; i += 1) socket.emit("join", `entities:${env.APP_ID}:Many${i}`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  out(`FLOOD_DONE ${socket.connected}`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
} else {
  console.error("MODE=subscribe|probe");
  process.exit(2);
}
