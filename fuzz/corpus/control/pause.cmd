earshot-control	1
verb	pause
call	4f2a-77@10.0.0.1
by	api:alice
