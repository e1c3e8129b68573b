"""The bot's HTTP side: what it serves beside the chat (metrics, health, the signed event intake)."""
