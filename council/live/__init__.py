"""The live council: agents as OS processes exchanging signed messages over MQTT."""
