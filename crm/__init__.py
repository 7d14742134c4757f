"""CRM connectors: a deal won in Bitrix24 or amoCRM (Kommo) becomes a deal in the bot, and the
survey link, the client's answer and a detractor's case go back to the CRM.

Layer: above the scheduler and below the handlers (handlers/crm.py is the owner's `/crm`); the
composition root (bot/) starts `CrmService` and mounts `crm.web` on the bot's HTTP server.
Events are stored on arrival and processed from the database, and every comment to the CRM is a
row before it is sent, so a CRM that is down delays the work and never loses it.
"""
