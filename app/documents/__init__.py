"""Documents the rep hands to a customer, made on the device."""
