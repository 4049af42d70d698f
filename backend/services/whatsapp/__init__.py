"""WhatsApp messaging: phone normalisation, providers, single and bulk sending, the durable sender and
the provider's webhooks (API.md §6.2–§6.4, WHATSAPP.md)."""
