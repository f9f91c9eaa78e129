export { basicAuth } from './basic-auth.js';
export { startBoard } from './board.js';
export { type BoardOptions, createBoardApp } from './board-app.js';
