earshot-control	1
verb	consent
call	abc@host
by	cli
party	callee
value	no
