#!/bin/sh
# The cheapest possible "claude": a valid stream-json init and result per message, so that what a
# benchmark measures is the gateway, not the CLI. One-shot (-p <prompt>) or long-lived (stream-json on stdin).
sid=11111111-1111-4111-8111-111111111111
answer() {
  echo '{"type":"system","subtype":"init","session_id":"'$sid'"}'
  echo '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}},"parent_tool_use_id":null}'
  echo '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"'$sid'","total_cost_usd":0,"num_turns":1,"duration_ms":1,"usage":{"input_tokens":1,"output_tokens":1}}'
}
case " $* " in
  *" --input-format stream-json "*) while read -r _line; do answer; done ;;
  *) answer ;;
esac
