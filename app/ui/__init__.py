"""The rep's app in Flet: `shell.app(services)` is what ft.run serves.

state/   plain classes: what each screen shows and what a tap does, over the store's services
views/   thin Flet controls that draw a state and hand events back to it
sync_service.py  the sync engine on its own thread, for views that must not wait
"""
