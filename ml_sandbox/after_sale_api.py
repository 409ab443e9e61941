"""After the sale over HTTP: shipments, labels, packs, questions and answers (ml_api.md §4,
§7) and their ``/_sandbox`` controls (shipment moves, carts, buyers' questions, moderation),
each posting ML's notification (``shipments``, ``orders_v2``, ``questions``)."""

from typing import Any

from flask import Flask, Response, jsonify, request

from ml_sandbox.api import args, payload, signed_in
from ml_sandbox.errors import bad_request
from ml_sandbox.questions import question_note
from ml_sandbox.shipping import shipment_note
from ml_sandbox.state import SandboxState


def register(app: Flask, state: SandboxState) -> None:
    @app.get("/shipments/<int:shipment_id>")
    def shipments_get(shipment_id: int) -> Response:
        new_format = request.headers.get("x-format-new", "").strip().lower() == "true"
        return jsonify(state.shipment_view(shipment_id, signed_in(state),
                                           new_format=new_format))

    @app.get("/shipment_labels")
    def shipment_labels() -> Response:
        kind = request.args.get("response_type") or "pdf"  # also ML's old savePdf=Y
        content, mimetype, notes = state.labels(signed_in(state),
                                                request.args.get("shipment_ids"), kind)
        state.emit_later(notes)
        response = Response(content, mimetype=mimetype)
        name = "Etiqueta de envio.pdf" if kind == "pdf" else "Etiqueta de envio.zip"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @app.get("/packs/<int:pack_id>")
    def packs_get(pack_id: int) -> Response:
        return jsonify(state.pack_view(pack_id, signed_in(state)))

    @app.get("/questions/search")
    def questions_search() -> Response:
        return jsonify(state.search_questions(signed_in(state), args()))

    @app.get("/questions/<int:question_id>")
    def questions_get(question_id: int) -> Response:
        return jsonify(state.question_view(question_id, signed_in(state)))

    @app.delete("/questions/<int:question_id>")
    def questions_delete(question_id: int) -> Response:
        return jsonify(state.delete_question(question_id, signed_in(state)))

    @app.post("/answers")
    def answers_post() -> Response:
        question, notes = state.answer_question(signed_in(state),
                                                request.get_json(silent=True))
        state.emit_later(notes)
        return jsonify(question)

    # --- controls ------------------------------------------------------------------

    def deliveries(notes: list[dict[str, Any]], data: dict[str, Any]) -> list[dict[str, Any]]:
        return state.emit(notes, data) if data.get("notify", True) else []

    @app.post("/_sandbox/shipments/<int:shipment_id>/status")
    def control_shipment_status(shipment_id: int) -> Response:
        data = payload()
        if "status" not in data:
            raise bad_request("status is required")
        shipment = state.move_shipment(shipment_id, data["status"], data.get("substatus"))
        view = state.shipment_view(shipment_id, shipment["seller_id"], new_format=True)
        return jsonify({"shipment": view,
                        "deliveries": deliveries([shipment_note(shipment)], data)})

    @app.post("/_sandbox/packs")
    def control_pack() -> Response:
        data = payload()
        pack, orders = state.create_pack(data)
        notes = [{"topic": "orders_v2", "resource": f"/orders/{order['id']}",
                  "user_id": order["seller"]["id"]} for order in orders]
        return jsonify({"pack": pack, "orders": orders,
                        "deliveries": deliveries(notes, data)})

    @app.post("/_sandbox/questions")
    def control_question() -> Response:
        data = payload()
        question = state.ask_question(data)
        return jsonify({"question": question,
                        "deliveries": deliveries([question_note(question)], data)})

    @app.post("/_sandbox/questions/<int:question_id>/<action>")
    def control_question_action(question_id: int, action: str) -> Response:
        data = payload()
        question = state.moderate_question(question_id, action)
        return jsonify({"question": question,
                        "deliveries": deliveries([question_note(question)], data)})
