"""What the test modules share: clients for each door, events and budgets to send, webhook
receivers, subscribers and processes. Test modules import from here, never from each other."""
