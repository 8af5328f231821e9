//! The OpenAPI 3 document of `/api/v1`, generated from the handlers'
//! annotations and the engine's result types (utoipa).

use axum::Json;
use utoipa::OpenApi;

/// The document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "marsad API", description = "marsad's own API for analysts' tools: the catalogue, releases, analyses, reports, exports, banks and the audit log. Every route needs `Authorization: Bearer <token>`.", version = "1"),
    paths(
        document,
        super::catalogue::sources,
        super::catalogue::posts,
        super::catalogue::post,
        super::catalogue::releases,
        super::catalogue::release,
        super::catalogue::outlets,
        super::catalogue::import_outlets,
        super::observe::analyze,
        super::observe::report,
        super::observe::export,
        super::banks::banks,
        super::banks::bank,
        super::banks::matches,
        super::banks::audit,
        super::themes::taxonomy,
        super::themes::release_codes,
        super::themes::set_code,
        super::themes::agreement,
        super::themes::analyze,
        super::review::queue,
        super::review::decide,
        super::review::decisions,
        super::review::undo,
        crate::jobs::submit,
        crate::jobs::list,
        crate::jobs::one,
    ),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "this document (OpenAPI 3)", body = serde_json::Value)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
