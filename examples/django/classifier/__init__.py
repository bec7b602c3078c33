"""The model-serving app: a toy colour classifier whose predictions visiondrift monitors."""
