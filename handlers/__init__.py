"""aiogram routers, one module per feature (named as in views/ and storage/), and the kit they
share (filters, replies, states, phone input). Importing one handler module imports no other
feature's: bot/routers.py puts the tree together."""
