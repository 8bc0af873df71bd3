"""Program analysis shared by several rules (recognisers and simple data flow on the stdlib `ast`)."""
