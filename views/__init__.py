"""What a person sees: texts (views/texts), callback data, keyboards, one set of formatting
helpers (common.py), and one module per feature that builds its messages. Views read storage's
values and domain's rules; they never import handlers, so any view can be rendered on its own
(by the scheduler, by a test)."""
