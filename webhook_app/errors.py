"""JSON error bodies: ``{"error": code, "message": text}``."""

from flask import Response, jsonify


def error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status
