"""The bot's HTTP side: what it serves beside the chat (metrics, health)."""
