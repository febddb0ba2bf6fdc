"""Redis adapters: the feedback store for several API replicas (Lua scripts, one per atomic step)."""
