"""A model-serving Django project that monitors its classifier with visiondrift."""
