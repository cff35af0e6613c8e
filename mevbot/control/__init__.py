"""control: Ed25519-signed operator commands with M-of-N approval, the control socket, the ack chain."""
