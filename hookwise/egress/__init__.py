"""What may leave the service: the SSRF guard on the addresses webhooks are sent to.

Neither domain (it resolves names) nor delivery (the API checks endpoint URLs with it too): both
the API and delivery import it, and it imports only the domain.
"""
