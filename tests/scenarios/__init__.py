"""The shipped scenario library: every file in scenarios/ runs, passes and shows its behaviour."""
