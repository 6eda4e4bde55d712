"""The card catalogue (YAML data, validated at start-up) and the renderer that turns findings into cards."""
