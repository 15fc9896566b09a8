earshot-control-ack	1
status	conflict
message	the call is already paused
