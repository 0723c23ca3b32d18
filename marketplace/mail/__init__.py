"""Mail to people: a `Message`, composed from a template in marketplace/mail/templates, handed
to the gateway the configuration chose (see gateways.py). Sending is a side effect: callers
send after their unit of work commits, never inside it."""
