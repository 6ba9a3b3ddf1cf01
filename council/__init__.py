"""The governance council: agents, Byzantine behaviours, the simulator, the runtime and the CLI."""
