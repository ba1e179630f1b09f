#pragma once
// The web app's pages, script and style, embedded at build time from src/app/web/assets/.
namespace xraykit::web::assets {
extern const char* const login_html;
extern const char* const index_html;
extern const char* const app_js;
extern const char* const style_css;
extern const char* const studio_html;
extern const char* const studio_js;
}  // namespace xraykit::web::assets
